def test_it_lists_a_running_container_made_by_the_harness(admin_client, make):
    container = make.container(state="running")
    response = admin_client.get("/containers/")
    assert response.status_code == 200
    assert f'data-id="{container["Id"]}"'.encode() in response.content
