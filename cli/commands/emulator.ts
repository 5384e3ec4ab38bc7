import type { Command } from 'commander';
import type { CommandContext } from '../exec.js';

// Placeholder until the emulator lands (being written now); replaced, not shipped.
export function registerEmulatorCommand(_program: Command, _context: CommandContext): void {}
