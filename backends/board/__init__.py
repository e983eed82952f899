"""The git bulletin board: signed posts in a documented layout, sync with retry, rewind
detection. See ``layout`` for where posts live, ``post`` for what a post is and how it is
signed, ``board`` for sync. The board holds no secret: posts are public, signed data."""

from .board import MAX_ATTEMPTS, Board, CeremonyView, SyncResult, init_board
from .errors import (BadSignature, BoardError, BoardRewound, BoardSyncError, MalformedPost, PostConflict,
                     PostRejected, UnknownPoster)
from .layout import new_ceremony_id, post_path
from .post import MAX_POST_BYTES, Post, Roster, make_post, parse_post

__all__ = [
    "MAX_ATTEMPTS", "MAX_POST_BYTES", "BadSignature", "Board", "BoardError", "BoardRewound", "BoardSyncError",
    "CeremonyView", "MalformedPost", "Post", "PostConflict", "PostRejected", "Roster", "SyncResult",
    "UnknownPoster", "init_board", "make_post", "new_ceremony_id", "parse_post", "post_path",
]
