import { describe, expect, it } from 'vitest';
import { render } from '@testing-library/react';
import { Avatar, initials } from './Avatar';

describe('Avatar', () => {
  it('initials_of_a_name_or_an_email', () => {
    expect(initials('Ada Lovelace')).toBe('AL');
    expect(initials('ada@x.example')).toBe('A');
    expect(initials('')).toBe('?');
  });

  it('the_initials_are_not_text_so_the_buttons_name_contains_all_its_visible_text', () => {
    // WCAG 2.5.3 Label in Name: the account button is named "Account menu for Tina Totp"; "TT"
    // as text inside it would be visible text missing from that name.
    const { container } = render(<Avatar name="Tina Totp" />);
    const avatar = container.querySelector('.avatar')!;
    expect(avatar.textContent).toBe('');
    expect(avatar.getAttribute('data-initials')).toBe('TT');
    expect(avatar.getAttribute('aria-hidden')).toBe('true');
  });
});
