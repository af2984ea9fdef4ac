/** Keyboard focus for inline editors that replace the button which opened them. */
import { useEffect, useRef } from "preact/hooks";

/**
 * Focuses `#<editing>-field-<id>` when an editor opens, and the button that opened it,
 * `#<editing>-button-<id>`, when it closes, so keyboard users never land on the page body.
 */
export function useEditorFocus(editing: string | null, id: string): void {
  const previous = useRef<string | null>(null);
  useEffect(() => {
    const target = editing
      ? `${editing}-field-${id}`
      : previous.current && `${previous.current}-button-${id}`;
    previous.current = editing;
    if (target) document.getElementById(target)?.focus();
  }, [editing]);
}
