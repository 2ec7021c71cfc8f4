operating_system = "DEBIAN"
