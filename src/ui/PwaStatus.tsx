import { promptInstall } from '../pwa/browser';
import { usePwa } from '../pwa/status';

/** Header items: the offline indicator and "Install" where the browser offers it. */
export function PwaStatus() {
  const offline = usePwa((s) => s.offline);
  const installAvailable = usePwa((s) => s.installAvailable);
  return (
    <>
      <span
        className="status-item"
        data-testid="network-status"
        data-online={String(!offline)}
        title="The browser reports no network. Everything already on this device keeps working."
        hidden={!offline}
      >
        <strong>Offline</strong>
      </span>
      {installAvailable && (
        <button type="button" className="button" data-testid="install-button" onClick={() => void promptInstall()}>
          Install
        </button>
      )}
    </>
  );
}
