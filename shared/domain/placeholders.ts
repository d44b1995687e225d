/** A session variable: text, or an attachment (which renders as its file name). */
export type VariableValue = string | { attachmentId: string; fileName: string };

export const renderValue = (v: VariableValue | undefined): string =>
  v === undefined ? '' : typeof v === 'string' ? v : v.fileName;

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_.-]*)\}/g;

/**
 * Fills `{name}` placeholders from the lookup. Unknown names render empty rather than
 * leaking the template to users. `encode` escapes each value (used for URLs).
 */
export function fillPlaceholders(
  template: string,
  lookup: (name: string) => VariableValue | undefined,
  encode: (value: string) => string = (s) => s,
): string {
  return template.replace(PLACEHOLDER, (_m, name: string) => encode(renderValue(lookup(name))));
}
