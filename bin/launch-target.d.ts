/** @module bin/launch-target — the types of launch-target.js (which entry `autointerp` runs). */
export declare const buildStampFile: string;
export declare function launchTarget(
  root: string,
  environment: Record<string, string | undefined>,
): { entry: 'dist' | 'source'; reason: string };
