import { useState } from 'react';
import { addClass, nextClassName, useClassCounts, useClasses } from '../state/classes';
import { importFolder } from '../state/importer';
import { useEngine } from '../state/engine';
import { useSession } from '../state/session';
import { DropZone } from './DropZone';
import { ClassCard } from './ClassCard';

interface Props {
  projectId: string;
  selectedClassId: string | null;
}

/**
 * Gather: an "Add a class" form, the one whole-folder import (drop or pick a folder of
 * folders; each sub-folder becomes a class), and the class cards.
 */
export function ClassList({ projectId, selectedClassId }: Props) {
  const classes = useClasses(projectId);
  const counts = useClassCounts(projectId);
  const ready = useEngine((s) => s.status === 'ready');
  const cameraClassId = useSession((s) => s.cameraClassId);
  const [name, setName] = useState('');

  if (!classes) return <p className="muted">Loading classes…</p>;

  return (
    <section className="panel classes-panel" aria-labelledby="gather-title">
      <h2 id="gather-title" className="column-title" tabIndex={-1}>
        <span className="step">1</span> Gather
      </h2>
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
        label="Import a folder of classes…"
        testId="folder-drop"
        ariaLabel="Import a folder of classes"
        className="folder-import"
        directory
        onFiles={(files) => void importFolder(files, { intoClassId: selectedClassId })}
        onDropTransfer={(dt) => void importFolder(dt, { intoClassId: selectedClassId })}
      >
        Have photos sorted in folders? Drop the parent folder here: each sub-folder becomes a class
        (existing names are reused).
      </DropZone>

      {classes.length === 0 ? (
        <p className="empty" data-testid="classes-empty">
          No classes yet. <strong>Add a class</strong> for each kind of thing you want Glimpse to
          recognise (say “cat” and “dog”), then add photos to it or use the webcam. Or import a
          folder of folders above.
        </p>
      ) : (
        <ol className="class-list" data-testid="class-list" aria-label="Classes">
          {classes.map((c, i) => (
            <ClassCard
              key={c.id}
              projectId={projectId}
              cls={c}
              classes={classes}
              index={i}
              count={counts?.[c.id] ?? 0}
              selected={c.id === selectedClassId}
              camera={c.id === cameraClassId}
              ready={ready}
            />
          ))}
        </ol>
      )}
    </section>
  );
}
