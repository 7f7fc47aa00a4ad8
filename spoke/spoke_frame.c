/* stub: to be written */ typedef int fl_stub_spoke_frame;
