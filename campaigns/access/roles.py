"""The four roles and what each may do: the one matrix every shell checks on the server side."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"  # members, settings, keys, and everything below
    MARKETER = "marketer"  # create and edit campaigns, content, schedules
    APPROVER = "approver"  # approve content and sends, launch
    VIEWER = "viewer"  # read only


class Permission(StrEnum):
    READ = "read"
    EDIT = "edit"  # campaigns, content, schedules, segments, templates, contacts
    APPROVE = "approve"  # approve or reject content and sends, launch, send, rebalance
    ADMIN = "admin"  # members, merchant settings, API keys, webhooks, token keys, erasure


# An approver does not edit: separating who writes from who signs off is the point of the role.
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset(Permission),
    Role.MARKETER: frozenset({Permission.READ, Permission.EDIT}),
    Role.APPROVER: frozenset({Permission.READ, Permission.APPROVE}),
    Role.VIEWER: frozenset({Permission.READ}),
}


class AccessDenied(PermissionError):
    """The caller's role on this merchant does not allow the action (shells map it to 403 / exit 2)."""

    def __init__(self, role: Role | None, permission: Permission) -> None:
        self.role, self.permission = role, permission
        who = f"the {role.value} role" if role else "a caller without a membership"
        super().__init__(f"{who} may not {permission.value} here; ask an owner of the merchant for a role that may")


def allows(role: Role | None, permission: Permission) -> bool:
    return role is not None and permission in ROLE_PERMISSIONS[role]


def require(role: Role | None, permission: Permission) -> None:
    if not allows(role, permission):
        raise AccessDenied(role, permission)
