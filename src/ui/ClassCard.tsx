import { memo, useRef, useState } from 'react';
import { deleteClass, moveClass, renameClass, setClassColor } from '../state/classes';
import { importFiles, importFolder } from '../state/importer';
import { PALETTE, type ClassRow } from '../state/repo';
import { openCameraFor, selectClass } from '../state/session';
import { DropZone } from './DropZone';
import { InlineEdit } from './InlineEdit';
import { SampleGrid } from './SampleGrid';
import { TeachCamera } from './TeachCamera';

interface Props {
  projectId: string;
  cls: ClassRow;
  classes: ClassRow[];
  index: number;
  count: number;
  selected: boolean;
  /** This card shows the teach webcam. */
  camera: boolean;
  ready: boolean;
}

/**
 * One class: its name, colour, count and order, a drop target, and its samples. Memoised: while an
 * import saves into one class, the other cards (and their thumbnails) do not re-render.
 */
export const ClassCard = memo(function ClassCard({
  projectId,
  cls,
  classes,
  index,
  count,
  selected,
  camera,
  ready,
}: Props) {
  const [editing, setEditing] = useState(false);
  const [palette, setPalette] = useState(false);
  const card = useRef<HTMLLIElement>(null);
  /**
   * The import progress appears above the columns and pushes this card down: keep the card where
   * the user left it (the page does not jump away from the class they were adding to).
   */
  const keepInPlace = () => {
    const el = card.current;
    if (!el) return;
    const top = el.getBoundingClientRect().top;
    let frames = 0;
    const follow = () => {
      const moved = el.getBoundingClientRect().top - top;
      if (Math.abs(moved) > 1) window.scrollBy(0, moved);
      if (++frames < 10) requestAnimationFrame(follow);
    };
    requestAnimationFrame(follow);
  };

  return (
    <li
      ref={card}
      className={`class-card${selected ? ' class-card-selected' : ''}`}
      data-testid="class-card"
      data-class-id={cls.id}
      style={{ borderLeftColor: cls.color }}
      // The class last worked on receives pasted images (and webcam frames).
      onFocusCapture={() => {
        if (!selected) selectClass(cls.id);
      }}
      onPointerDown={() => {
        if (!selected) selectClass(cls.id);
      }}
    >
      <div className="class-head">
        <button
          type="button"
          className="swatch"
          style={{ background: cls.color }}
          aria-label={`Colour of ${cls.name}: ${cls.color}. Change colour`}
          aria-expanded={palette}
          data-testid="class-color"
          onClick={() => setPalette((p) => !p)}
        />
        {editing ? (
          <InlineEdit
            value={cls.name}
            label={`New name for ${cls.name}`}
            testId="class-rename-input"
            onSave={(name) => renameClass(cls.id, name)}
            onDone={() => setEditing(false)}
          />
        ) : (
          <h3 className="class-name" data-testid="class-name">
            {cls.name}
          </h3>
        )}
        {classes.length > 1 && (
          // Always laid out, shown only on the selected card: selecting a card (on focus, which
          // comes with the mouse press) must not move its buttons between press and release, or
          // the click lands on something else.
          <span className="badge" data-testid={selected ? 'class-paste-target' : undefined} aria-hidden={!selected} style={{ visibility: selected ? 'visible' : 'hidden' }}>
            Paste target
          </span>
        )}
        <span className="class-count muted">
          <span data-testid="class-count">{count}</span> sample{count === 1 ? '' : 's'}
        </span>
        <div className="class-tools">
          <button
            type="button"
            className="button small-button"
            aria-label={`Rename ${cls.name}`}
            data-testid="class-rename"
            onClick={() => setEditing(true)}
          >
            Rename
          </button>
          <button
            type="button"
            className="button small-button"
            aria-label={`Move ${cls.name} up`}
            disabled={index === 0}
            data-testid="class-up"
            onClick={() => void moveClass(projectId, cls.id, -1)}
          >
            ↑
          </button>
          <button
            type="button"
            className="button small-button"
            aria-label={`Move ${cls.name} down`}
            disabled={index === classes.length - 1}
            data-testid="class-down"
            onClick={() => void moveClass(projectId, cls.id, 1)}
          >
            ↓
          </button>
          <button
            type="button"
            className="button small-button danger"
            aria-label={`Delete ${cls.name}`}
            data-testid="class-delete"
            onClick={() => void deleteClass(cls.id)}
          >
            Delete
          </button>
        </div>
      </div>
      {palette && (
        <div className="palette" role="group" aria-label={`Colours for ${cls.name}`}>
          {PALETTE.map((c) => (
            <button
              key={c}
              type="button"
              className="swatch"
              style={{ background: c }}
              aria-label={`Colour ${c}`}
              aria-pressed={c === cls.color}
              onClick={() => {
                void setClassColor(cls.id, c);
                setPalette(false);
              }}
              onKeyDown={(e) => {
                if (e.key === 'Escape') setPalette(false);
              }}
            />
          ))}
        </div>
      )}
      <DropZone
        label="Add images…"
        testId="class-drop"
        ariaLabel={`Add images to ${cls.name}`}
        onFiles={(files) => {
          selectClass(cls.id);
          keepInPlace();
          importFiles(cls.id, files);
        }}
        extra={
          <button
            type="button"
            className="button"
            aria-pressed={camera}
            aria-label={`Webcam for ${cls.name}`}
            data-testid="class-webcam"
            onClick={() => openCameraFor(camera ? null : cls.id)}
          >
            {camera ? 'Close webcam' : 'Webcam'}
          </button>
        }
        onDropTransfer={(dt) => {
          keepInPlace();
          void importFolder(dt, { intoClassId: cls.id, rootFilesIntoClass: true });
        }}
      >
        {count === 0
          ? `Drop photos of “${cls.name}” here${ready ? '' : ' (they are saved once the model is ready)'}`
          : 'Drop more photos here'}

      </DropZone>
      {camera && <TeachCamera classId={cls.id} className={cls.name} onClose={() => openCameraFor(null)} />}
      <SampleGrid projectId={projectId} cls={cls} classes={classes} count={count} />
    </li>
  );
});
