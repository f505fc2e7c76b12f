print('mail')
