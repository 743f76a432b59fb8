def test_health_and_start(client, started_run):
    body = client.get("/health").json()
    assert body["status"] == "healthy"
    assert client.get(f"/runs/{started_run}").json()["state"] == "RUN_CREATED"
