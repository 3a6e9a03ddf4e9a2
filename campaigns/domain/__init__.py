"""Domain core: enums, the campaign lifecycle and validated inputs."""
