import type { SourceMap } from 'node:module';
/** Maps the frames of `script` (the bundle's file name) in a stack trace text through `map`. */
export function mapStackText(text: string, map: SourceMap, script: string): string;
