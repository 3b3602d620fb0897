import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { useClassCounts } from '../state/classes';
import { startEngine } from '../state/engine';
import { initProjects, useCurrentProjectId, useFollowProjects } from '../state/projects';
import { useSession } from '../state/session';
import { watchReembedding } from '../state/reembed';
import { Header } from '../ui/Header';
import { Notices } from '../ui/Notices';
import { PwaPrompts } from '../ui/PwaPrompts';
import { TeachView } from '../ui/TeachView';
import { Toasts } from '../ui/Toasts';
import { WhatIsThis } from '../ui/WhatIsThis';

type Tab = 'teach' | 'what';

/** The longest the model waits for the first view before it starts loading anyway. */
const FIRST_VIEW_WAIT_MS = 1500;
const TABS: { id: Tab; label: string }[] = [
  { id: 'teach', label: 'Teach' },
  { id: 'what', label: 'What is this?' },
];

function tabFromHash(): Tab {
  return location.hash === '#what' ? 'what' : 'teach';
}

export function App() {
  const [tab, setTab] = useState<Tab>(tabFromHash);
  useFollowProjects();
  useEffect(() => {
    void initProjects();
    watchReembedding();
  }, []);
  // The model worker starts once the open project's classes and counts are on screen (or after
  // FIRST_VIEW_WAIT_MS): parsing its script and weights on a 2-core machine would otherwise hold
  // up the first view of a large project.
  const loaded = useSession((s) => s.loaded || s.loadError !== null);
  const counts = useClassCounts(useCurrentProjectId());
  const firstView = loaded && counts !== undefined;
  const engineStarted = useRef(false);
  useEffect(() => {
    const start = () => {
      if (engineStarted.current) return;
      engineStarted.current = true;
      void startEngine();
    };
    if (firstView) start();
    const timer = setTimeout(start, FIRST_VIEW_WAIT_MS);
    return () => clearTimeout(timer);
  }, [firstView]);
  useEffect(() => {
    const onHash = () => setTab(tabFromHash());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  const choose = (next: Tab) => {
    setTab(next);
    history.replaceState(null, '', `#${next}`);
    document.getElementById(`tab-${next}`)?.focus();
  };
  const onTabKey = (e: KeyboardEvent) => {
    if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
    e.preventDefault();
    const i = TABS.findIndex((t) => t.id === tab);
    const next = TABS[(i + (e.key === 'ArrowRight' ? 1 : TABS.length - 1)) % TABS.length];
    if (next) choose(next.id);
  };

  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Header />
      <Notices />
      <PwaPrompts />
      <main id="main" className="main">
        <div role="tablist" aria-label="Views" className="tabs" onKeyDown={onTabKey}>
          {TABS.map((t) => (
            <button
              key={t.id}
              id={`tab-${t.id}`}
              type="button"
              role="tab"
              className="tab"
              aria-selected={tab === t.id}
              aria-controls={`panel-${t.id}`}
              tabIndex={tab === t.id ? 0 : -1}
              data-testid={`tab-${t.id}`}
              onClick={() => choose(t.id)}
            >
              {t.label}
            </button>
          ))}
        </div>
        {/* Both views stay mounted (a running import or webcam survives switching tabs). */}
        <div id="panel-teach" role="tabpanel" aria-labelledby="tab-teach" hidden={tab !== 'teach'}>
          <TeachView active={tab === 'teach'} />
        </div>
        <div id="panel-what" role="tabpanel" aria-labelledby="tab-what" hidden={tab !== 'what'}>
          <WhatIsThis active={tab === 'what'} />
        </div>
      </main>
      <Toasts />
    </div>
  );
}
