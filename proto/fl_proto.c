/* stub: to be written */ typedef int fl_stub_fl_proto;
