"""Records in and out of spreadsheets: import (CSV/XLSX), templates and readable exports."""
from .exporters import export as export
from .exporters import export_stream as export_stream
from .importer import import_file as import_file
from .readers import UnreadableFile as UnreadableFile
from .readers import read_tables as read_tables
from .results import ImportResult as ImportResult
from .results import RowError as RowError
from .templates import template as template
