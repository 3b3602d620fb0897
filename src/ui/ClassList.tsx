import { useEffect, useRef, useState } from 'react';
import { addClass, nextClassName, useClassCounts, useClasses } from '../state/classes';
import { importFolder } from '../state/importer';
import { useEngine } from '../state/engine';
import { DropZone } from './DropZone';
import { ClassCard } from './ClassCard';

interface Props {
  projectId: string;
  selectedClassId: string | null;
}

/** A folder picker: <input webkitdirectory> (not in React's types, so set as an attribute). */
function FolderButton({ onFiles }: { onFiles: (files: File[]) => void }) {
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    input.current?.setAttribute('webkitdirectory', '');
  }, []);
  return (
    <>
      <button type="button" className="button" onClick={() => input.current?.click()}>
        Choose a folder…
      </button>
      <input
        ref={input}
        type="file"
        multiple
        hidden
        data-testid="folder-input"
        onChange={(e) => {
          const files = Array.from(e.target.files ?? []);
          e.target.value = '';
          if (files.length) onFiles(files);
        }}
      />
    </>
  );
}

/** The project's classes, an "Add a class" form, and a drop target for whole folders. */
export function ClassList({ projectId, selectedClassId }: Props) {
  const classes = useClasses(projectId);
  const counts = useClassCounts(projectId);
  const ready = useEngine((s) => s.status === 'ready');
  const [name, setName] = useState('');

  if (!classes) return <p className="muted">Loading classes…</p>;

  return (
    <section className="panel classes-panel" aria-labelledby="classes-title">
      <h2 id="classes-title">Classes</h2>
      <form
        className="row add-class"
        onSubmit={(e) => {
          e.preventDefault();
          void addClass(projectId, name.trim() || nextClassName(classes)).then((row) => {
            if (row) setName('');
          });
        }}
      >
        <input
          aria-label="New class name"
          data-testid="class-new-name"
          placeholder={nextClassName(classes)}
          maxLength={100}
          value={name}
          onChange={(e) => setName(e.target.value)}
        />
        <button type="submit" className="button primary" data-testid="class-add">
          Add a class
        </button>
      </form>

      <DropZone
        label="Choose images…"
        testId="folder-drop"
        ariaLabel="Add a folder of classes"
        onFiles={(files) => void importFolder(files, { intoClassId: selectedClassId })}
        onDropTransfer={(dt) => void importFolder(dt, { intoClassId: selectedClassId })}
      >
        Drop a folder here: each sub-folder becomes a class (existing names are reused).
      </DropZone>
      <div className="row folder-row">
        <FolderButton
          onFiles={(files) => void importFolder(files, { intoClassId: selectedClassId })}
        />
      </div>

      {classes.length === 0 ? (
        <p className="empty" data-testid="classes-empty">
          No classes yet. <strong>Add a class</strong> for each kind of thing you want Glimpse to
          recognise (say “cat” and “dog”), then drop photos on it or use the webcam. Or drop a
          folder of folders above.
        </p>
      ) : (
        <ol className="class-list" data-testid="class-list">
          {classes.map((c, i) => (
            <ClassCard
              key={c.id}
              projectId={projectId}
              cls={c}
              classes={classes}
              index={i}
              count={counts?.[c.id] ?? 0}
              selected={c.id === selectedClassId}
              ready={ready}
            />
          ))}
        </ol>
      )}
    </section>
  );
}
