/**
 * Svelte compiler options for the console. Vite and Vitest are pointed at this file explicitly
 * (their roots differ); svelte-check finds it by walking up from each component.
 */
export default {
  compilerOptions: {
    // Runes everywhere: a component that forgot a rune must fail to compile, not silently fall
    // back to legacy reactivity.
    runes: true,
  },
};
