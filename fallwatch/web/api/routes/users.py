"""/api/users and /api/tokens (admin only)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, HTTPException, Request, Response

from fallwatch.web.api.deps import Admin, AuthDep, TokenId, UserId, Viewer
from fallwatch.web.locale import request_locale
from fallwatch.web.schemas import (
    MePublic,
    ProfilePatch,
    TokenCreate,
    TokenCreated,
    TokenPublic,
    UserCreate,
    UserPatch,
    UserPublic,
    errors,
)

router = APIRouter(tags=["access"], responses=errors(401, 422))


@router.get("/api/me", response_model=MePublic, summary="Who you are")
def me(request: Request, who: Viewer) -> MePublic:
    return MePublic(
        name=who.name,
        role=who.role,
        via="token" if who.via_token else "session",
        locale=request_locale(request),
    )


@router.patch(
    "/api/users/me",
    response_model=UserPublic,
    summary="Your own settings: the language of your pages",
    responses=errors(400, 403, 413),
)
def edit_me(body: ProfilePatch, who: Viewer, users: AuthDep) -> UserPublic:
    if who.user_id is None:
        raise HTTPException(400, "an API token has no user settings: log in as a user")
    return UserPublic.model_validate(users.set_locale(who.user_id, body.locale))


@router.get("/api/users", response_model=list[UserPublic], responses=errors(403))
def list_users(users: AuthDep, _: Admin) -> list[UserPublic]:
    return [UserPublic.model_validate(u) for u in users.list_users()]


@router.post(
    "/api/users",
    response_model=UserPublic,
    status_code=201,
    responses=errors(400, 403, 409, 413),
)
def add_user(body: UserCreate, users: AuthDep, _: Admin) -> UserPublic:
    return UserPublic.model_validate(users.add_user(body.username, body.password, body.role))


@router.patch(
    "/api/users/{user_id}", response_model=UserPublic, responses=errors(400, 403, 404, 409, 413)
)
def edit_user(user_id: UserId, body: UserPatch, users: AuthDep, _: Admin) -> UserPublic:
    view = users.update_user(
        user_id, role=body.role, disabled=body.disabled, password=body.password
    )
    return UserPublic.model_validate(view)


@router.delete(
    "/api/users/{user_id}",
    status_code=204,
    summary="Remove a user (their sessions end, their API tokens are revoked)",
    responses=errors(403, 404, 409),
)
def delete_user(user_id: UserId, users: AuthDep, _: Admin) -> Response:
    users.delete_user(user_id)
    return Response(status_code=204)


@router.get("/api/tokens", response_model=list[TokenPublic], responses=errors(403))
def list_tokens(users: AuthDep, _: Admin) -> list[TokenPublic]:
    return [TokenPublic.model_validate(t) for t in users.list_tokens()]


@router.post(
    "/api/tokens",
    response_model=TokenCreated,
    status_code=201,
    summary="Create an API token (shown once)",
    responses=errors(400, 403, 413),
)
def create_token(body: TokenCreate, users: AuthDep, who: Admin) -> TokenCreated:
    token, view = users.create_token(body.name, body.role, who.user_id)
    return TokenCreated.model_validate({**asdict(view), "token": token})


@router.delete("/api/tokens/{token_id}", status_code=204, responses=errors(403, 404))
def revoke_token(token_id: TokenId, users: AuthDep, _: Admin) -> Response:
    users.revoke_token(token_id)
    return Response(status_code=204)
