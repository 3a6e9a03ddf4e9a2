import pytest

from campaigns.access.roles import AccessDenied, Permission, Role, allows, require


@pytest.mark.parametrize(
    ("role", "granted"),
    [
        (Role.OWNER, {"read", "edit", "approve", "admin"}),
        (Role.MARKETER, {"read", "edit"}),
        (Role.APPROVER, {"read", "approve"}),
        (Role.VIEWER, {"read"}),
        (None, set()),
    ],
)
def test_each_role_gets_exactly_its_permissions(role, granted):
    assert {p.value for p in Permission if allows(role, p)} == granted


def test_require_names_the_role_and_the_way_out():
    with pytest.raises(AccessDenied, match="the viewer role may not approve.*ask an owner"):
        require(Role.VIEWER, Permission.APPROVE)
    require(Role.APPROVER, Permission.APPROVE)
