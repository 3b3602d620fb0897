import { useEffect, useState, type KeyboardEvent } from 'react';
import { startEngine } from '../state/engine';
import { initProjects, useFollowProjects } from '../state/projects';
import { watchReembedding } from '../state/reembed';
import { Header } from '../ui/Header';
import { Notices } from '../ui/Notices';
import { PwaPrompts } from '../ui/PwaPrompts';
import { TeachView } from '../ui/TeachView';
import { Toasts } from '../ui/Toasts';
import { WhatIsThis } from '../ui/WhatIsThis';

type Tab = 'teach' | 'what';
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
    void startEngine();
    void initProjects();
    watchReembedding();
  }, []);
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
