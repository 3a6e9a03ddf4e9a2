"""Images attached to posts, served by content name (Instagram downloads `image_url` from here; X uploads are fetched here).

The bytes come from the configured media store: CAMPAIGNS_HOME/media, or the S3-compatible bucket
when its objects have no public URL of their own.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from campaigns.social.media import open_stored, read_stored
from campaigns.social.media_store import LocalMediaStore, MediaStoreError, media_store

log = logging.getLogger(__name__)
router = APIRouter(tags=["public"], include_in_schema=False)
# the name is the content's hash: the bytes never change, so caches may keep them for good
HEADERS = {"Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff"}


@router.get("/media/{name}")
def image(request: Request, name: str) -> Response:
    try:
        store = media_store(request.app.state.settings)
        if isinstance(store, LocalMediaStore):
            found = open_stored(store.folder, name)
            if found is not None:
                return FileResponse(found[0], media_type=found[1], headers=HEADERS)
            read = None
        else:
            read = read_stored(store, name)
    except MediaStoreError as exc:
        log.warning("media %s: %s", name, exc)  # names the setting to fix (a key id at most, never a secret)
        # a platform fetching the image learns nothing of the configuration
        return Response("media store unavailable", status_code=503, media_type="text/plain", headers={"Retry-After": "30"})
    if read is None:  # only names the media store wrote: nothing else of CAMPAIGNS_HOME is reachable
        return Response("not found", status_code=404, media_type="text/plain")
    data, mime = read
    return Response(data, media_type=mime, headers=HEADERS)
