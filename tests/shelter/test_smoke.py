from shelter.models import Role

from tests.shelter.conftest import login


def test_login_lands_each_role_on_its_start_page(client, make_user, make_org):
    org = make_org("NAV")
    expected = {Role.INTAKE: "/intake/", Role.PARTNER: "/partner/", Role.MANAGER: "/reports/",
                Role.ADMIN: "/admin/"}
    for role, path in expected.items():
        user = make_user(role, organisation=org if role is Role.PARTNER else None)
        login(client, user)
        response = client.get("/")
        assert response.status_code == 302
        assert response.headers["Location"].endswith(path)
        client.post("/logout")


def test_wrong_password_is_refused_beside_the_field(client, make_user):
    user = make_user(Role.INTAKE)
    response = client.post("/login", data={"username": user.username, "password": "nope"})
    assert response.status_code == 422
    assert "Wrong username or password." in response.get_data(as_text=True)
