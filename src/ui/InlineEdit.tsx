import { useEffect, useRef, useState } from 'react';

interface Props {
  value: string;
  label: string;
  onSave: (next: string) => Promise<boolean> | boolean;
  onDone: () => void;
  testId?: string;
}

/** A text field that saves on Enter (or leaving it) and cancels on Escape. */
export function InlineEdit({ value, label, onSave, onDone, testId }: Props) {
  const [text, setText] = useState(value);
  const input = useRef<HTMLInputElement>(null);
  const finished = useRef(false);

  useEffect(() => {
    input.current?.focus();
    input.current?.select();
  }, []);

  const save = async () => {
    if (finished.current) return;
    finished.current = true;
    const next = text.trim();
    if (next && next !== value) {
      const ok = await onSave(next);
      if (!ok) {
        finished.current = false;
        input.current?.focus();
        return;
      }
    }
    onDone();
  };

  return (
    <input
      ref={input}
      className="inline-edit"
      aria-label={label}
      data-testid={testId}
      value={text}
      maxLength={100}
      onChange={(e) => setText(e.target.value)}
      onKeyDown={(e) => {
        if (e.key === 'Enter') {
          e.preventDefault();
          void save();
        } else if (e.key === 'Escape') {
          e.preventDefault();
          finished.current = true;
          onDone();
        }
      }}
      onBlur={() => void save()}
    />
  );
}
