"""From a reader's Draft to an Article: text, dates, bylines, URLs, language, identity."""
