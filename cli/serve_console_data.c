/* The web console's files (cli/console/), embedded into the binary at
 * build time with the assembler's .incbin (the Makefile rebuilds this
 * object when a file there changes). Each file F becomes the symbols
 * console_F and console_F_end (serve_console.c lists them). Paths are
 * relative to the repository root, where make runs the compiler. */

#define CONSOLE_INCBIN(sym, path)                                                                            \
	__asm__(".section .rodata\n"                                                                         \
		".global " #sym "\n"                                                                         \
		".global " #sym "_end\n"                                                                     \
		".balign 16\n" #sym ":\n"                                                                    \
		".incbin \"" path "\"\n" #sym "_end:\n"                                                      \
		".byte 0\n"                                                                                  \
		".previous\n")

CONSOLE_INCBIN(console_index_html, "cli/console/index.html");
CONSOLE_INCBIN(console_app_js, "cli/console/app.js");
CONSOLE_INCBIN(console_style_css, "cli/console/style.css");
