"""Size limits (the budgets) of the language, shared by the parser, the evaluator and the
SQL compiler. Every budget is checked before anything runs, so a hostile expression costs
milliseconds to refuse."""

MAX_LENGTH = 2000  # characters of expression text
MAX_DEPTH = 50  # nesting levels
MAX_NODES = 400  # names, literals, operators and calls in one expression
MAX_EXPANDED = 1000  # nodes once every `x ** k` is written out as k factors (as in SQL)
MAX_CALL_DEPTH = 12  # calls inside calls: abs(round(...)) is 2
MAX_POWER = 100  # largest literal exponent of `**`
MAX_SIZE = 10000  # longest text or list an expression may produce
MAX_INT = 10 ** 18  # literals beyond this do not fit a scaled BIGINT
# A number may grow to at most this many digits, counting every field as FIELD_DIGITS
# digits (a BIGINT); below Python's 4300-digit limit on turning an int into text.
MAX_DIGITS = 4000
FIELD_DIGITS = 19
# The SQL one expression compiles to: its text, and how deeply it nests parentheses
# (SQLite's parser gives up near 20 levels of `coalesce(... , 0)`).
MAX_SQL_LENGTH = 50_000
MAX_SQL_DEPTH = 15
