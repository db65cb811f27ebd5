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

/** DEL and the C1 controls, which JSON.stringify leaves raw (it escapes only U+0000–U+001F). */
const RAW_IN_JSON = /[\u007f-\u009f]/g;

/**
 * JSON text with DEL and the C1 controls written as `\u` escapes: the same JSON value, but inert on a terminal (an
 * 8-bit CSI, U+009B, starts an escape sequence on some terminals). Every JSON the CLI prints goes through this.
 */
export function jsonWithoutRawControls(json: string): string {
  return json.replace(RAW_IN_JSON, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Control characters other than the line breaks and tabs that lay out CSV and JSONL text. */
const CONTROLS_BUT_LAYOUT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;

/**
 * Data text (CSV, JSONL) for an output stream: exact for a file or a pipe; on a terminal, control characters other
 * than newline, carriage return and tab shown as `\x1b`-style escapes, so a token holding an escape sequence is
 * displayed, never obeyed. Redirect to a file (or `--out FILE`) for the exact bytes.
 */
export function dataForStream(text: string, stream: { isTTY?: boolean }): string {
  return stream.isTTY ? text.replace(CONTROLS_BUT_LAYOUT, escapeControl) : text;
}
