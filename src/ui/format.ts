// Small display helpers shared by views.

export function percent(x: number, digits = 1): string {
  return `${(x * 100).toFixed(digits)} %`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(0)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

/** ImageNet labels come as "great_white_shark": show them as words. */
export function prettyLabel(label: string): string {
  return label.replace(/_/g, ' ');
}
