"""Size limits of the language, shared by the parser and the Python evaluator."""

MAX_LENGTH = 2000  # characters of expression text
MAX_DEPTH = 50  # nesting levels
MAX_POWER = 100  # largest literal exponent of `**`
MAX_SIZE = 10000  # longest text or list an expression may produce
MAX_INT = 10 ** 18  # literals beyond this do not fit a scaled BIGINT
