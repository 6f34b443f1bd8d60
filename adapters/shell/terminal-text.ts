// Text bound for a terminal: control characters (escape sequences typed into a command or held in
// a record) are shown as visible \xHH instead of being obeyed by the terminal.

// C0 controls except tab and newline, DEL, and the C1 controls (U+0080-U+009F, where CSI lives).
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is this file's job
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * Makes control characters visible, so `ESC[2J` in echoed text prints as `\x1b[2J`.
 *
 * @example
 * neutraliseControls('run \u001b[31mred') // 'run \\x1b[31mred'
 */
export function neutraliseControls(text: string): string {
  return text.replace(CONTROL, (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
