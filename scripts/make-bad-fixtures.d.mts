export declare const BAD_DIR: string;
export declare const EXPECTED: Record<string, string>;
export declare function makeBadCorpus(dir?: string): string[];
