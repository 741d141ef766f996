/** The framework's version, shared by every package (they are released together). */
export const VERSION = '0.1.0';
