"""HOST SIDE: Pine's lexer, expression and statement parsers, syntax tree."""
