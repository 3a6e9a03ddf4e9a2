"""Images attached to posts, served by content name (Instagram downloads `image_url` from here; X uploads are fetched here)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from campaigns.social.media import open_stored

router = APIRouter(tags=["public"], include_in_schema=False)


@router.get("/media/{name}")
def image(request: Request, name: str) -> Response:
    found = open_stored(request.app.state.settings.media_dir, name)
    if found is None:  # only names the media store wrote: nothing else of CAMPAIGNS_HOME is reachable
        return Response("not found", status_code=404, media_type="text/plain")
    path, mime = found
    # the name is the content's hash: the bytes never change, so caches may keep them for good
    return FileResponse(path, media_type=mime, headers={"Cache-Control": "public, max-age=31536000, immutable",
                                                        "X-Content-Type-Options": "nosniff"})
