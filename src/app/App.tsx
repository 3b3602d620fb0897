import { useEffect } from 'react';
import { startEngine } from '../state/engine';
import { Header } from '../ui/Header';
import { Notices } from '../ui/Notices';
import { WhatIsThis } from '../ui/WhatIsThis';

export function App() {
  useEffect(() => {
    void startEngine();
  }, []);
  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Header />
      <Notices />
      <main id="main" className="main">
        <WhatIsThis />
      </main>
    </div>
  );
}
