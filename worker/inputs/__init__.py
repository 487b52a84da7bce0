"""Where bytes come from: files, globs and standard input; HTTP fetches and the address guard."""
