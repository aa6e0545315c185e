"""Prints terminal escape sequences around its text, then exits."""

print("\x1b[1;32mAttached\x1b[0m", flush=True)
print("\x1b]0;pwned title\x07\x1b[2J\x1b[Hcleared screen", flush=True)
print("\x1b[31mPASS\x1b[0m \u202eevil\u202c", flush=True)
