"""CSV import of contacts, companies and deals: upload, preview, mapping, and the run itself.

Its services are Flask-free: explicit actor, flush, never commit. The run is a generator of
batches (``import_batches``) so that its caller, the RQ job, commits after each one.

- **Upload** (``start_import``): the file is stored as it came, in ``ImportChunk`` rows (web and
  worker may run on different machines). Its encoding is found from a byte-order mark (UTF-8,
  UTF-16 LE/BE as Excel writes it), else UTF-16 without a mark from where its zero bytes fall,
  else UTF-8 if every byte decodes, else Windows-1252. The delimiter (``, ; tab |``) is sniffed.
  Empty, header-only (no data row within the first ``PREVIEW_BYTES``), binary and workbook files
  are refused with a message saying what to do, and so is a header of more than ``MAX_COLUMNS``
  columns or one not ending within ``MAX_HEADER_BYTES``.
  The whole file is read and checked before anything is written: no transaction (on SQLite, no
  write lock shared by every organization) is open while it is parsed.
- **Mapping** (``guess_mapping``): column headers are matched to field names, labels, aliases and
  custom field labels; a person confirms it on the mapping screen (the API uses it as is). A
  contact file's one name column ("Name", "Full name", "ФИО") maps to ``full_name``, which is no
  field: each cell is split into first and last name (``names``), and the mapping screen shows the
  split of its preview rows. A contact mapping that gives no name at all (``gives_names``) is
  allowed, as phone-only lists are, but the mapping screen warns first and asks to go on.
- **Dedupe**: contacts match on normalized email, Telegram user id, Telegram username or phone
  (the first that matches wins); companies on domain when the row has one, else on the lower-cased
  name; deals on the lower-cased title together with the contact when a contact column is mapped,
  else on the title alone. Rows match live records and earlier rows of the same file.
  ``skip`` counts a matching row skipped; ``update`` writes the row's non-blank values into the
  match (tags are added; a row that changes nothing counts skipped); ``create`` always creates.
  Importing the same file twice with ``skip`` or ``update`` therefore creates nothing new.
- **Permissions**: any member may import with ``skip`` or ``create`` (new records belong to the
  importer unless an owner column says otherwise, as with the create form); ``update`` overwrites
  records other people own, so it needs ``Permission.RECORDS_EDIT_ALL``.
- **References**: companies named in a contact or deal row are found by name (or id) and created
  when missing, as the record form does; those companies are not counted in the import's figures.
  Owners are members' emails (or ids), stages the default pipeline's stage names (or ids), a deal's
  contact an email (or id); an unknown one rejects the row.
- **Counts**: every data row ends up created, updated, skipped or rejected; the figures are the
  rows written, and each created or updated record gets a timeline entry naming the import.
  Rejected rows are kept (``ImportRejection``) with their reasons and cells for the CSV download.
  A reason (and a failed import's error) is written in every language of the interface at once
  (the row's refusals are made again in each: parsing is pure) and read in the viewer's
  (``status.in_viewers_language``); the page's download names its two extra columns in the
  viewer's language, the API's keeps ``row`` and ``reason``.
- **Dry run**: the same work, counted and rejected rows recorded, but no record is written.

Modules: ``upload`` (storing and reading the file, preview), ``mapping`` (guess, check, queue),
``names`` (a full name split into first and last),
``cleaning`` (cells to values, no database), ``references`` (owners, companies, contacts, stages,
tags; ids for new rows), ``runner`` (batches, dedupe, writes; rows go in through
``app.bulk_insert``, deals' stages through the pipeline's port ``crm.deal_stages``), ``bulk``
(search indexing in bulk, chunking), ``status`` (reading imports and their rejected rows); and the
web side: ``routes`` (the pages), ``api`` (the JSON routes), ``jobs`` (the RQ job).
"""

# Re-exported for the app; the tunables (CHUNK_BYTES, BATCH_ROWS) are read from their own modules.

from .mapping import (
    POLICIES,
    POLICY_LABELS,
    check_mapping,
    field_choices,
    gives_names,
    guess_mapping,
    import_file,
    queue_import,
)
from .names import FULL_NAME, SplitName, split_full_name
from .runner import BATCH_ROWS, MAX_RAW_CELL, _Run, fail_import, import_batches, may_run, refusal
from .status import (
    ENTITY_NAMES,
    ENTITY_WORDS,
    error_text,
    every_language,
    finished,
    get_import,
    in_language,
    in_viewers_language,
    list_imports,
    percent,
    rejected_csv,
    status_word,
)
from .upload import (
    CHUNK_BYTES,
    ENCODING_LABELS,
    ENTITY_PATHS,
    MAX_COLUMNS,
    MAX_HEADER_BYTES,
    PREVIEW_BYTES,
    PREVIEW_ROWS,
    Preview,
    preview,
    start_import,
)

__all__ = ["BATCH_ROWS", "CHUNK_BYTES", "ENCODING_LABELS", "ENTITY_NAMES", "ENTITY_PATHS", "ENTITY_WORDS",
           "FULL_NAME", "MAX_COLUMNS", "MAX_HEADER_BYTES", "MAX_RAW_CELL", "POLICIES", "POLICY_LABELS",
           "PREVIEW_BYTES", "PREVIEW_ROWS", "Preview", "SplitName", "_Run", "check_mapping", "error_text",
           "every_language", "fail_import", "field_choices", "finished", "get_import", "gives_names",
           "guess_mapping", "import_batches", "import_file", "in_language", "in_viewers_language",
           "list_imports", "may_run", "percent", "preview", "queue_import", "refusal", "rejected_csv",
           "split_full_name", "start_import", "status_word"]
