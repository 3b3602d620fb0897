// Object URLs for Blobs that live exactly as long as the element showing them: a React 19 ref
// callback creates the URL when the <img> mounts (or the blob changes) and revokes it on cleanup.
import { useCallback } from 'react';

export function useBlobSrc(
  blob: Blob | null | undefined,
): (img: HTMLImageElement | null) => void | (() => void) {
  return useCallback(
    (img: HTMLImageElement | null) => {
      if (!img || !blob) return;
      const url = URL.createObjectURL(blob);
      img.src = url;
      return () => {
        img.removeAttribute('src');
        URL.revokeObjectURL(url);
      };
    },
    [blob],
  );
}
