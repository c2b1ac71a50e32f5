import { useState } from 'react';
import { describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { CodeInput } from './CodeInput';
import { sanitizeCode } from './code';

function Harness() {
  const [value, setValue] = useState('');
  return <CodeInput value={value} onChange={setValue} />;
}

describe('sanitizeCode', () => {
  it('keeps only digits, six at most', () => {
    expect(sanitizeCode('12a3-4 56')).toBe('123456');
    expect(sanitizeCode('1234567890')).toBe('123456');
    expect(sanitizeCode('abc')).toBe('');
    expect(sanitizeCode('98765432', 8)).toBe('98765432');
  });
});

describe('CodeInput', () => {
  it('accepts only digits as they are typed', async () => {
    render(<Harness />);
    const input = screen.getByLabelText('Authentication code');
    await userEvent.type(input, '1a2b3');
    expect(input).toHaveProperty('value', '123');
  });

  it('stops at six digits', async () => {
    render(<Harness />);
    const input = screen.getByLabelText('Authentication code');
    await userEvent.type(input, '123456789');
    expect(input).toHaveProperty('value', '123456');
  });

  it('keeps the digits of a pasted code with spaces or dashes', async () => {
    render(<Harness />);
    const input = screen.getByLabelText('Authentication code');
    await userEvent.click(input);
    await userEvent.paste('Your code: 123 456 (valid 10 minutes)');
    expect(input).toHaveProperty('value', '123456');
  });

  it('tells the browser and phones what it is for', () => {
    render(<Harness />);
    const input = screen.getByLabelText('Authentication code');
    expect(input.getAttribute('inputmode')).toBe('numeric');
    expect(input.getAttribute('autocomplete')).toBe('one-time-code');
  });
});
