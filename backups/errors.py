class BackupError(Exception):
    """A backup or a restore could not be done; the message says why, for the operator."""


class RestoreRefused(BackupError):
    """The restore was refused before anything was changed."""
