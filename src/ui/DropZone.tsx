import { useEffect, useRef, useState, type ReactNode } from 'react';

interface Props {
  label: string;
  onFiles: (files: File[]) => void;
  multiple?: boolean;
  children?: ReactNode;
  testId?: string;
  disabled?: boolean;
  /** Receives the whole drop (folders included) instead of onFiles; called during the event. */
  onDropTransfer?: (dt: DataTransfer) => void;
  /** Accessible name of the zone (defaults to none). */
  ariaLabel?: string;
  /** The button picks a folder (<input webkitdirectory>) instead of images. */
  directory?: boolean;
  /** Extra controls shown next to the picker button. */
  extra?: ReactNode;
  className?: string;
}

/** A drop target with a real button for the file picker, so it works without a mouse too. */
export function DropZone({
  label,
  onFiles,
  multiple = true,
  children,
  testId,
  disabled,
  onDropTransfer,
  ariaLabel,
  directory = false,
  extra,
  className,
}: Props) {
  const [over, setOver] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    // webkitdirectory is not in React's types: set as an attribute.
    if (directory) input.current?.setAttribute('webkitdirectory', '');
  }, [directory]);
  return (
    <div
      className={`dropzone${over ? ' dropzone-over' : ''}${className ? ` ${className}` : ''}`}
      data-testid={testId}
      role={ariaLabel ? 'group' : undefined}
      aria-label={ariaLabel}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        if (disabled) return;
        if (onDropTransfer) {
          onDropTransfer(e.dataTransfer);
          return;
        }
        const files = Array.from(e.dataTransfer.files);
        if (files.length) onFiles(multiple ? files : files.slice(0, 1));
      }}
    >
      <p>{children ?? 'Drop images here'}</p>
      <button
        type="button"
        className="button"
        disabled={disabled}
        onClick={() => input.current?.click()}
      >
        {label}
      </button>
      {extra}
      <input
        ref={input}
        type="file"
        accept={directory ? undefined : 'image/*'}
        multiple={multiple}
        hidden
        data-testid={testId ? `${testId}-input` : undefined}
        onChange={(e) => {
          const files = Array.from(e.target.files ?? []);
          e.target.value = '';
          if (files.length) onFiles(files);
        }}
      />
    </div>
  );
}
