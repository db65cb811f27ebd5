/**
 * @module report/terminal-text — text from records, LLMs and users made safe to print on a terminal: control
 * characters become visible escapes, so a token holding an escape sequence (an OSC 52 clipboard write, a cursor move,
 * a title change) is shown, never obeyed. JSON and CSV output are exact and do not go through this.
 */

/** C0 controls (U+0000–U+001F), DEL (U+007F) and C1 controls (U+0080–U+009F): what a terminal may act on. */
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;

const NAMED_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `\x1b`-style escape of one control character (`\n`, `\r`, `\t` by name). */
const escapeControl = (character: string): string =>
  NAMED_ESCAPES[character] ?? `\\x${character.charCodeAt(0).toString(16).padStart(2, '0')}`;

/** `text` with every C0/C1 control character and DEL written as a visible escape (`\x1b`, `\x07`, `\n`…). */
export function escapeTerminalText(text: string): string {
  return text.replace(CONTROL_CHARACTERS, escapeControl);
}
