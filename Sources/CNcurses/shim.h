// ncursesw for Swift. SwiftPM drops pkg-config's -D flags, so the wide-character API
// (cchar_t, wget_wch, mvwadd_wch, setcchar) is switched on here, before the header is read.
// The inline functions below stand in for macros Swift cannot import (function-like or
// built from other macros).
#ifndef GIM_CNCURSES_SHIM_H
#define GIM_CNCURSES_SHIM_H

#define NCURSES_WIDECHAR 1
#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif
#include <locale.h>
#include <wchar.h>
#include <ncursesw/ncurses.h>

// The terminal's C globals, read through functions: Swift 6 refuses direct reads of C global
// variables (shared mutable state to it). Only the thread that owns the `NcursesSurface` (not
// Sendable, so it cannot leave its thread) calls ncurses.
static inline WINDOW *gim_stdscr(void) { return stdscr; }
static inline FILE *gim_stdout(void) { return stdout; }
static inline FILE *gim_stdin(void) { return stdin; }

// Video attributes.
static inline attr_t gim_attr_normal(void) { return A_NORMAL; }
static inline attr_t gim_attr_bold(void) { return A_BOLD; }
static inline attr_t gim_attr_dim(void) { return A_DIM; }
static inline attr_t gim_attr_underline(void) { return A_UNDERLINE; }
static inline attr_t gim_attr_reverse(void) { return A_REVERSE; }

// Window size (getmaxyx is a macro that assigns to its arguments).
static inline int gim_lines(void) { int y, x; getmaxyx(stdscr, y, x); (void)x; return y; }
static inline int gim_columns(void) { int y, x; getmaxyx(stdscr, y, x); (void)y; return x; }

// Key codes that are macros of macros.
static inline int gim_key_f(int n) { return KEY_F(n); }
static inline int gim_key_code_yes(void) { return KEY_CODE_YES; }
static inline int gim_key_resize(void) { return KEY_RESIZE; }

// The number of colours and pairs the terminal offers (globals set by start_color).
static inline int gim_colors(void) { return COLORS; }
static inline int gim_color_pairs(void) { return COLOR_PAIRS; }

// One cell: a grapheme of up to CCHARW_MAX wide characters (NUL-terminated) with attributes
// and a colour pair. The pair is passed through `opts` too so pairs above 32767 work.
static inline int gim_put_cell(int y, int x, const wchar_t *text, attr_t attrs, int pair) {
    cchar_t cell;
    int extended = pair;
    if (setcchar(&cell, text, attrs, (short)(pair > 32767 ? 0 : pair), &extended) != OK) return ERR;
    return mvwadd_wch(stdscr, y, x, &cell);
}

// Whether the terminal can move the cursor at all (TERM=dumb cannot). tigetstr is declared in
// term.h, which also defines macros named like ordinary words; only this prototype is needed.
extern char *tigetstr(const char *);
static inline int gim_can_address_cursor(void) {
    char *cup = tigetstr("cup");
    return cup != NULL && cup != (char *)-1;
}

// The longest grapheme a cell holds, in wide characters.
static inline int gim_cell_max_chars(void) { return CCHARW_MAX; }

#endif
