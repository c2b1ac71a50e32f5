import { forwardRef, useId, type ClipboardEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { sanitizeCode } from './code';

type Props = {
  value: string;
  onChange: (value: string) => void;
  label?: string;
  length?: number;
  error?: string | null;
  autoFocus?: boolean;
  disabled?: boolean;
  name?: string;
};

/**
 * One input for a one-time code: digits only, `length` at most, pasting "123 456" works, and
 * the browser may fill it from an SMS or e-mail (`autocomplete=one-time-code`).
 */
export const CodeInput = forwardRef<HTMLInputElement, Props>(function CodeInput(
  { value, onChange, label, length = 6, error, autoFocus, disabled, name = 'code' },
  ref,
) {
  const { t } = useTranslation();
  const id = useId();
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;

  function onPaste(e: ClipboardEvent<HTMLInputElement>) {
    const text = e.clipboardData.getData('text');
    if (!text) return;
    e.preventDefault();
    onChange(sanitizeCode(text, length));
  }

  return (
    <div className="field">
      <label htmlFor={id}>{label ?? t('codeInput.label')}</label>
      <input
        ref={ref}
        id={id}
        name={name}
        className="code-input"
        type="text"
        inputMode="numeric"
        autoComplete="one-time-code"
        pattern={`\\d{${length}}`}
        maxLength={length}
        spellCheck={false}
        value={value}
        autoFocus={autoFocus}
        disabled={disabled}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${hintId} ${errorId}` : hintId}
        onChange={(e) => onChange(sanitizeCode(e.target.value, length))}
        onPaste={onPaste}
      />
      <p className="field-hint" id={hintId}>
        {t('codeInput.digits', { count: length })}
      </p>
      {error && (
        <p className="field-error" id={errorId}>
          {error}
        </p>
      )}
    </div>
  );
});
