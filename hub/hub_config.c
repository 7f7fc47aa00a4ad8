/* stub: to be written */ typedef int fl_stub_hub_config;
