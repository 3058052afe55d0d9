// Board profiles, embedded in the program (the binary carries them; nothing to
// find on disk). Each file in boards/ is one profile.
import piZero2w from '../../boards/pi-zero-2w.json' with { type: 'json' };
import pi3b from '../../boards/pi-3b.json' with { type: 'json' };
import pi4 from '../../boards/pi-4.json' with { type: 'json' };
import pi5 from '../../boards/pi-5.json' with { type: 'json' };
import x64 from '../../boards/x64.json' with { type: 'json' };
import type { Board } from './types.ts';

export const BOARDS: Record<string, Board> = Object.fromEntries(
  [piZero2w, pi3b, pi4, pi5, x64].map((b) => [b.name, b as Board]),
);
