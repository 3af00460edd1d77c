from projects.models import Project


def test_key_lists_its_tenants_projects(tenant, other_tenant, key_client):
    Project.all_tenants.create(tenant=tenant, name="Intents")
    Project.all_tenants.create(tenant=other_tenant, name="Theirs")
    response = key_client(tenant).get("/api/v1/projects/")
    assert response.status_code == 200, response.content
    assert [p["name"] for p in response.json()["results"]] == ["Intents"]
